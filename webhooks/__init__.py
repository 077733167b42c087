"""Outgoing webhooks: endpoints per environment, an outbox of events, signed deliveries with retries."""
