"""What an OPTIONS request to an API route answers.

DRF's default metadata describes each route's input fields, which needs an object lookup on
detail routes and a ``serializer_class`` on every view; our views have neither, so OPTIONS
crashed with a 500. The OpenAPI document is where the API describes its fields; OPTIONS just
names the route and the media types it speaks.
"""

from rest_framework.metadata import SimpleMetadata


class RouteMetadata(SimpleMetadata):
    def determine_metadata(self, request, view):
        return {
            "name": view.get_view_name(),
            "renders": [renderer.media_type for renderer in view.renderer_classes],
            "parses": [parser.media_type for parser in view.parser_classes],
        }
