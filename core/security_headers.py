"""The Content-Security-Policy header, on every response (Django 5.2 has no built-in CSP).

The other security headers come from Django's own middleware, configured in billing/settings.py:
X-Content-Type-Options (SecurityMiddleware), Referrer-Policy (SecurityMiddleware),
Cross-Origin-Opener-Policy (SecurityMiddleware) and X-Frame-Options (XFrameOptionsMiddleware).
The policy itself is the setting CONTENT_SECURITY_POLICY; a view that sets its own header keeps it.
"""

from django.conf import settings


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if settings.CONTENT_SECURITY_POLICY:
            response.headers.setdefault("Content-Security-Policy", settings.CONTENT_SECURITY_POLICY)
        return response
