"""What a person runs in a terminal: ``socialpub`` (cli.py), its user
commands (users.py), and the supervisor that ``socialpub up`` runs the whole
product with (supervisor.py)."""
