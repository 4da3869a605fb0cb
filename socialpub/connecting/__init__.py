"""Connecting accounts through a network's own OAuth flow (web process): the
authorization redirect and token exchange (Authlib), the account's identity
read from the network, and the channel stored or brought up to date."""
