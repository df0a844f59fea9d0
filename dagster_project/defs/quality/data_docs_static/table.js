/* Coliseum's offline stand-in for bootstrap-table (GX Data Docs load it from a CDN): renders the
   columns and rows GX passes to $(...).bootstrapTable({...}) as a plain table; rows with a link open it. */
(function ($) {
  $.fn.bootstrapTable = function (options) {
    if (typeof options !== "object") { return this; }  /* method calls (filters, search): nothing to do */
    return this.each(function () {
      var table = $(this).empty().addClass("table table-sm");
      var head = $("<tr>");
      (options.columns || []).forEach(function (c) { head.append($("<th>").text(c.title || c.field)); });
      table.append($("<thead>").append(head));
      var body = $("<tbody>");
      (options.data || []).forEach(function (row) {
        var tr = $("<tr>");
        (options.columns || []).forEach(function (c) { tr.append($("<td>").html(row[c.field] == null ? "" : row[c.field])); });
        if (row._table_row_link_path) {
          tr.css("cursor", "pointer").on("click", function () { window.location = row._table_row_link_path; });
        }
        body.append(tr);
      });
      table.append(body);
    });
  };
})(jQuery);
