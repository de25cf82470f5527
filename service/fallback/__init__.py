"""Channels when the link is gone: NSP short codes, transfer keys, USB-stick files."""
