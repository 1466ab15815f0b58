"""The customer's own space at ``/my``: sign-in by e-mailed link, loyalty, requests, consents,
my data, and the panels other features contribute (``portal.panels``)."""
