"""The /v1 customer endpoints, as Flexprice's SDK calls them. Reads go through customers.selectors,
writes through customers.services; every lookup is scoped to the API key's environment."""

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.response import Response

from core.api.pagination import page_envelope, parse_page
from core.db.replica import replica_reads
from core.exceptions import ValidationFailed
from customers import selectors, services
from customers.api.serializers import (
    CustomerCreateInputSerializer,
    CustomerListQuerySerializer,
    CustomerListSerializer,
    CustomerSearchInputSerializer,
    CustomerSerializer,
    CustomerUpdateInputSerializer,
    CustomerUpdateQuerySerializer,
)
from customers.models import Customer

ID_PARAMETER = OpenApiParameter("id", str, OpenApiParameter.PATH, description="The customer's id (cust_...).")
TAGS = ["Customers"]


@extend_schema(tags=TAGS)
class CustomerViewSet(viewsets.GenericViewSet):
    serializer_class = CustomerSerializer
    # Tells the schema generator the model behind {id}; lookups go through customers.selectors.
    queryset = Customer.objects.none()
    # A search is a read sent as POST: read-only keys may run it.
    read_only_actions = ("search",)

    @property
    def environment_id(self) -> str:
        return self.request.auth.environment_id

    def get_object(self):
        return selectors.customer_get(environment_id=self.environment_id, customer_id=self.kwargs["id"])

    def _input(self, serializer_class, data):
        serializer = serializer_class(data=data)
        serializer.is_valid(raise_exception=True)
        return serializer

    def _page(self, query_serializer) -> Response:
        data = query_serializer.validated_data
        limit, offset = parse_page(data.get("limit"), data.get("offset"))
        customers = selectors.customer_list(environment_id=self.environment_id, query=query_serializer.to_query())
        items = CustomerSerializer(customers[offset : offset + limit], many=True).data
        return Response(page_envelope(items, total=customers.count(), limit=limit, offset=offset))

    @extend_schema(
        operation_id="createCustomer",
        summary="Create a customer",
        request=CustomerCreateInputSerializer,
        responses={201: CustomerSerializer},
    )
    def create(self, request):
        data = self._input(CustomerCreateInputSerializer, request.data).validated_data
        customer = services.customer_create(environment=request.auth.environment, actor=request.auth.id, **data)
        return Response(CustomerSerializer(customer).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="listCustomers",
        summary="List customers",
        parameters=[CustomerListQuerySerializer],
        responses=CustomerListSerializer,
    )
    @replica_reads
    def list_customers(self, request):
        # Not named "list": drf-spectacular would document the envelope as an array of envelopes.
        return self._page(self._input(CustomerListQuerySerializer, request.query_params))

    @extend_schema(
        operation_id="queryCustomer",
        summary="Search customers",
        request=CustomerSearchInputSerializer,
        responses={200: CustomerListSerializer},
    )
    @replica_reads
    def search(self, request):
        return self._page(self._input(CustomerSearchInputSerializer, request.data))

    @extend_schema(operation_id="getCustomer", summary="Get a customer", parameters=[ID_PARAMETER], responses=CustomerSerializer)
    def retrieve(self, request, **kwargs):
        return Response(CustomerSerializer(self.get_object()).data)

    @extend_schema(
        operation_id="getCustomerByExternalId",
        summary="Get a customer by external id",
        parameters=[OpenApiParameter("external_id", str, OpenApiParameter.PATH)],
        responses=CustomerSerializer,
    )
    def retrieve_by_external_id(self, request, external_id):
        customer = selectors.customer_get_by_external_id(environment_id=self.environment_id, external_id=external_id)
        return Response(CustomerSerializer(customer).data)

    def _update(self, customer):
        data = self._input(CustomerUpdateInputSerializer, self.request.data).validated_data
        customer = services.customer_update(customer, actor=self.request.auth.id, **data)
        return Response(CustomerSerializer(customer).data)

    @extend_schema(
        operation_id="updateCustomerById",
        summary="Update a customer",
        parameters=[ID_PARAMETER],
        request=CustomerUpdateInputSerializer,
        responses=CustomerSerializer,
    )
    def update(self, request, **kwargs):
        return self._update(self.get_object())

    @extend_schema(
        operation_id="updateCustomer",
        summary="Update a customer found by id or external_customer_id",
        parameters=[CustomerUpdateQuerySerializer],
        request=CustomerUpdateInputSerializer,
        responses=CustomerSerializer,
    )
    def update_by_query(self, request):
        """Flexprice's ``PUT /customers?id=...|external_customer_id=...``; both given must agree."""
        query = self._input(CustomerUpdateQuerySerializer, request.query_params).validated_data
        customer_id, external_id = query.get("id"), query.get("external_customer_id")
        if external_id:
            customer = selectors.customer_get_by_external_id(environment_id=self.environment_id, external_id=external_id)
            if customer_id and customer.id != customer_id:
                raise ValidationFailed("id and external_customer_id refer to different customers", field="external_customer_id")
        else:
            customer = selectors.customer_get(environment_id=self.environment_id, customer_id=customer_id)
        return self._update(customer)

    @extend_schema(
        operation_id="deleteCustomer",
        summary="Delete a customer (refused while it has an active wallet with credits)",
        parameters=[ID_PARAMETER],
        responses={204: OpenApiResponse(description="Deleted")},
    )
    def destroy(self, request, **kwargs):
        services.customer_delete(self.get_object(), actor=request.auth.id)
        return Response(status=status.HTTP_204_NO_CONTENT)
