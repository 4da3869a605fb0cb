"""Every status change of a publication or a post, and nothing else: see table.py."""
