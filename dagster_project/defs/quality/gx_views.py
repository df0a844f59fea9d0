"""GX's Data Docs page views, with compiled templates kept for the process. GX builds a new Jinja environment for
every view it instantiates, so every page compiled its templates again (about 0.3 s a page): these views share
one in-memory bytecode cache. The site config in gx.py (`_view`) names them; GX imports this module when it
first renders a page."""

from __future__ import annotations

from great_expectations.render.view import DefaultJinjaIndexPageView, DefaultJinjaPageView
from jinja2 import BytecodeCache, Environment
from jinja2.bccache import Bucket


class _ProcessBytecodeCache(BytecodeCache):
    """Compiled templates by Jinja's key; a bucket whose source checksum changed is recompiled by Jinja."""

    def __init__(self) -> None:
        self._compiled: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        compiled = self._compiled.get(bucket.key)
        if compiled is not None:
            bucket.bytecode_from_string(compiled)

    def dump_bytecode(self, bucket: Bucket) -> None:
        self._compiled[bucket.key] = bucket.bytecode_to_string()


_CACHE = _ProcessBytecodeCache()


class _SharedTemplates:
    """Mixed in ahead of a GX view: its Jinja environment, built by GX's __init__, gets the shared cache."""

    env: Environment

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.env.bytecode_cache = _CACHE


class PageView(_SharedTemplates, DefaultJinjaPageView):
    pass


class IndexPageView(_SharedTemplates, DefaultJinjaIndexPageView):
    pass
