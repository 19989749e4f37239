"""Notifications to defenders: an outbox, channels (e-mail, webhook, in-app) and message texts.

Services only write intent into the ``notifications`` outbox, in the caller's transaction;
``tasks.deliver_due`` sends afterwards, so a notification is never lost and never sent from a
request handler.
"""
