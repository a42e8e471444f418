"""OSS-RBA, the national business licensing system: licence pushes become permit filings with SLAs."""
