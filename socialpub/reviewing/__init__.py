"""Review links: posts shown to someone without an account, who approves them or asks for changes
(links.py: made, opened, revoked; decisions.py: what the reviewer decided, and who is told)."""
