"""Working for clients and campaigns: links that count (links.py)."""
