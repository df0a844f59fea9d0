"""Coliseum: passport_entries -> DNA mutations -> domain strength -> twelve published leaderboards."""
