"""The ``noodnet`` command line: CP service, gateway, demo."""
