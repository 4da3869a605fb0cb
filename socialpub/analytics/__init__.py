"""How published posts did: their numbers collected on a schedule (collection.py) and read
back for the pages, the API, the export and the best times to post (reports.py)."""
