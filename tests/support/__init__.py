"""What the tests share: the services they run against (services.py), the
worker and `socialpub up` processes (workers.py), network namespaces
(netns.py), servers on loopback (slow_server.py, webhook_receiver.py), and
helpers of the web, the adapters and WhatsApp."""
