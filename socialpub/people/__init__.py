"""The people who use socialpub: accounts and their API tokens, roles, the team
and its invitations, the first user, and the sign-in throttle. Flask-free:
the web process (web/auth/) and the commands (commands/users.py) use it."""
