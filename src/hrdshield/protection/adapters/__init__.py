"""Platform adapters: one interface, an implementation per platform (demo, webhook, Mastodon)."""
