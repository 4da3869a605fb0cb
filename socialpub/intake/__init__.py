"""What people send — posts, schedule times, channels, repeated requests — checked
before anything is stored. Used by the web process (pages and API)."""
