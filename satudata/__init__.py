"""Satu Data Jambi: Posko's ClickHouse data published as open data, in CKAN's conventions."""
