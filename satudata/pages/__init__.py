"""The portal's pages, rendered on the server in Bahasa Indonesia (or English), without scripts."""
