"""The one search box's page: straight to the object when the query names exactly one, a list otherwise."""

from django.contrib import admin
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse

from backoffice.search import LIMIT, find
from core.exceptions import ValidationFailed


def find_view(request):
    query = request.GET.get("q", "").strip()
    try:
        hits, refused = find(query, user=request.user), ""
    except ValidationFailed as exc:
        hits, refused = [], exc.message
    if len(hits) == 1:
        return HttpResponseRedirect(hits[0].url)
    context = {
        **admin.site.each_context(request),
        "title": f"Find “{query}”" if query else "Find",
        "query": query,
        "hits": hits,
        "refused": refused,
        "limit": LIMIT,
    }
    return TemplateResponse(request, "admin/backoffice/find.html", context)
