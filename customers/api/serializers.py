"""Wire shapes of the /v1 customer routes.

``CustomerSerializer`` is the SDK's ``CustomerResponse``. The ``*InputSerializer`` classes check
the shape of request bodies and query strings (types, lengths, enums); the services and selectors
check the rest. Fields the SDK may send that this service does not keep (``timezone``,
``billing_currency``, ``contact``, ``tax_treatment``...) are not declared, so they are ignored.
"""

from django.core.validators import EmailValidator
from rest_framework import serializers

from core.api.fields import QuerySerializer, StrictCharField, StrictDateTimeField, StrictIntegerField
from core.api.pagination import MAX_LIMIT, MAX_OFFSET
from core.api.schema import list_envelope
from core.inputs import MAX_METADATA_ENTRIES, MAX_METADATA_KEY_LENGTH, MAX_METADATA_VALUE_LENGTH
from customers.models import Customer
from customers.selectors import FILTERABLE_FIELDS, SORTABLE_FIELDS, Condition, CustomerQuery
from customers.services import PROFILE_FIELDS

ORDERS = ["asc", "desc"]


class CustomerSerializer(serializers.ModelSerializer):
    metadata = serializers.DictField(child=serializers.CharField())
    status = serializers.ChoiceField(choices=Customer.Status.choices)
    tenant_id = serializers.CharField()
    environment_id = serializers.CharField()

    class Meta:
        model = Customer
        fields = [
            "id",
            "external_id",
            "name",
            "email",
            "address_line1",
            "address_line2",
            "address_city",
            "address_state",
            "address_postal_code",
            "address_country",
            "metadata",
            "status",
            "tenant_id",
            "environment_id",
            "created_at",
            "updated_at",
            "created_by",
            "updated_by",
        ]
        read_only_fields = fields
        ref_name = "CustomerResponse"


CustomerListSerializer = list_envelope(CustomerSerializer, "ListCustomersResponse")


class _ProfileInputSerializer(serializers.Serializer):
    name = StrictCharField(required=False, max_length=PROFILE_FIELDS["name"])
    email = StrictCharField(required=False, allow_blank=True, max_length=PROFILE_FIELDS["email"], validators=[EmailValidator()])
    address_line1 = StrictCharField(required=False, allow_blank=True, max_length=PROFILE_FIELDS["address_line1"])
    address_line2 = StrictCharField(required=False, allow_blank=True, max_length=PROFILE_FIELDS["address_line2"])
    address_city = StrictCharField(required=False, allow_blank=True, max_length=PROFILE_FIELDS["address_city"])
    address_state = StrictCharField(required=False, allow_blank=True, max_length=PROFILE_FIELDS["address_state"])
    address_postal_code = StrictCharField(required=False, allow_blank=True, max_length=PROFILE_FIELDS["address_postal_code"])
    address_country = StrictCharField(
        required=False, allow_blank=True, max_length=2, help_text="Two-letter ISO 3166-1 alpha-2 code."
    )
    metadata = serializers.DictField(
        child=StrictCharField(allow_blank=True, trim_whitespace=False, max_length=MAX_METADATA_VALUE_LENGTH),
        required=False,
        help_text=f"String values only; at most {MAX_METADATA_ENTRIES} keys of up to {MAX_METADATA_KEY_LENGTH} "
        "characters. On update it replaces the whole map.",
    )


class CustomerCreateInputSerializer(_ProfileInputSerializer):
    external_id = StrictCharField(max_length=255, help_text="Your own id for the customer: the lookup key.")
    name = StrictCharField(max_length=PROFILE_FIELDS["name"])

    class Meta:
        ref_name = "CreateCustomer"


class CustomerUpdateInputSerializer(_ProfileInputSerializer):
    """Every field optional; only the fields sent change."""

    external_id = StrictCharField(required=False, max_length=255)

    class Meta:
        ref_name = "UpdateCustomer"


class CustomerUpdateQuerySerializer(QuerySerializer):
    id = StrictCharField(required=False, max_length=50, help_text="The customer's id.")
    external_customer_id = StrictCharField(required=False, max_length=255, help_text="The customer's external_id.")

    def validate(self, attrs):
        if not attrs.get("id") and not attrs.get("external_customer_id"):
            raise serializers.ValidationError({"id": "either id or external_customer_id is required"})
        return attrs


class _FilterValueSerializer(serializers.Serializer):
    string = StrictCharField(required=False, allow_blank=True, max_length=1000)
    date = StrictDateTimeField(required=False)
    array = serializers.ListField(child=StrictCharField(max_length=255), required=False, max_length=1000)

    class Meta:
        ref_name = "CustomerFilterValue"


class _FilterConditionSerializer(serializers.Serializer):
    field = serializers.ChoiceField(choices=sorted(FILTERABLE_FIELDS))
    operator = serializers.ChoiceField(choices=["eq", "contains", "not_contains", "in", "not_in", "before", "after"])
    data_type = serializers.ChoiceField(choices=["string", "number", "date", "array"], required=False)
    value = _FilterValueSerializer()

    class Meta:
        ref_name = "CustomerFilterCondition"


class _SortConditionSerializer(serializers.Serializer):
    field = serializers.ChoiceField(choices=list(SORTABLE_FIELDS))
    direction = serializers.ChoiceField(choices=ORDERS, default="asc")

    class Meta:
        ref_name = "CustomerSortCondition"


class _PageInputSerializer(QuerySerializer):
    limit = StrictIntegerField(required=False, min_value=0, max_value=MAX_LIMIT, help_text="1..1000; absent or 0 means 50.")
    offset = StrictIntegerField(required=False, min_value=0, max_value=MAX_OFFSET)
    order = serializers.ChoiceField(choices=ORDERS, required=False, help_text="Direction of the created_at sort.")
    external_id = StrictCharField(required=False, max_length=255)
    email = StrictCharField(required=False, max_length=255)
    start_time = StrictDateTimeField(required=False, help_text="created_at ≥ start_time")
    end_time = StrictDateTimeField(required=False, help_text="created_at ≤ end_time")

    def to_query(self) -> CustomerQuery:
        data = self.validated_data
        external_ids = list(data.get("external_ids", []))
        if data.get("external_id"):
            external_ids.append(data["external_id"])
        conditions = [
            Condition(field=item["field"], operator=item["operator"], values=dict(item["value"]))
            for item in data.get("filters", [])
        ]
        sort = [(item["field"], item["direction"]) for item in data.get("sort", [])]
        if data.get("sort_field"):
            sort.append((data["sort_field"], data.get("order", "desc")))
        return CustomerQuery(
            customer_ids=list(data.get("customer_ids", [])),
            external_ids=external_ids,
            email=data.get("email") or None,
            start_time=data.get("start_time"),
            end_time=data.get("end_time"),
            conditions=conditions,
            sort=sort,
            order=data.get("order", "desc"),
        )


class CustomerSearchInputSerializer(_PageInputSerializer):
    """The body of POST /v1/customers/search (the SDK's CustomerFilter)."""

    customer_ids = serializers.ListField(child=StrictCharField(max_length=50), required=False, max_length=1000)
    external_ids = serializers.ListField(child=StrictCharField(max_length=255), required=False, max_length=1000)
    filters = _FilterConditionSerializer(many=True, required=False)
    sort = _SortConditionSerializer(many=True, required=False)

    class Meta:
        ref_name = "CustomerFilter"


class CustomerListQuerySerializer(_PageInputSerializer):
    """The query string of GET /v1/customers; ``customer_ids`` and ``external_ids`` may repeat."""

    customer_ids = serializers.ListField(child=StrictCharField(max_length=50), required=False, max_length=1000)
    external_ids = serializers.ListField(child=StrictCharField(max_length=255), required=False, max_length=1000)
    sort = serializers.ChoiceField(choices=list(SORTABLE_FIELDS), required=False, source="sort_field")
