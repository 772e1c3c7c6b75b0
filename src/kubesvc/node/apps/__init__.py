"""The built-in image programs: small servers standing in for the seeds' and e2e images.

Each is run as `python -m kubesvc.node.apps.NAME`, serves only its own port(s) on 0.0.0.0
(KUBESVC_APP_HOST / KUBESVC_APP_PORT override the address and the default port), logs one line
per request to stdout as the real image does, and exits promptly on SIGTERM or SIGINT.
"""
