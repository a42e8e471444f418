"""CAP 1.2 alerts: imported from files, feeds and pushes; Posko's alerts served as an Atom feed of CAP."""
