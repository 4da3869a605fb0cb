"""WhatsApp as Meta allows it: contacts who opted in, approved templates,
each recipient's delivery, Meta's webhooks, the messaging limits."""
