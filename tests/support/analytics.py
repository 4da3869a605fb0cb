"""One run of the scheduler's ``collect_metrics`` with the messages it sends run at once, in order:
what the analytics tests use instead of a scheduler and a worker."""
from socialpub.analytics import collection


def collect(settings, now=None):
    """Plan, then read the items and the accounts planned; return ``(items sent, accounts sent)``."""
    sent_items, sent_accounts = [], []
    collection.plan(settings, lambda c, ids: sent_items.append((c, ids)), sent_accounts.append, now=now)
    for channel_id, ids in sent_items:
        collection.read_items(settings, channel_id, ids, now=now)
    for channel_id in sent_accounts:
        collection.read_account(settings, channel_id, now=now)
    return sent_items, sent_accounts
