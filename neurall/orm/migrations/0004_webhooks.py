from tortoise import migrations
from tortoise.migrations import operations as ops
from neurall.orm.webhooks import DeliveryStatus
from tortoise.fields.base import OnDelete
from uuid import uuid4
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('neurall', '0003_mail')]

    initial = False

    operations = [
        ops.CreateModel(
            name='WebhookEndpoint',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('neurall.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='webhook_endpoints', on_delete=OnDelete.CASCADE)),
                ('url', fields.CharField(max_length=2048)),
                ('description', fields.CharField(null=True, max_length=500)),
                ('events', fields.CharField(max_length=300)),
                ('secret', fields.CharField(max_length=100)),
                ('previous_secret', fields.CharField(null=True, max_length=100)),
                ('previous_secret_expires_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('enabled', fields.BooleanField(default=True)),
                ('disabled_reason', fields.CharField(null=True, max_length=200)),
                ('failing_since', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'webhook_endpoint', 'app': 'neurall', 'indexes': [Index(fields=['account_id', 'enabled'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='WebhookDelivery',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('endpoint', fields.ForeignKeyField('neurall.WebhookEndpoint', source_field='endpoint_id', db_constraint=True, to_field='id', related_name='deliveries', on_delete=OnDelete.CASCADE)),
                ('account_id', fields.UUIDField(db_index=True)),
                ('event_id', fields.CharField(db_index=True, max_length=64)),
                ('event_type', fields.CharField(max_length=32)),
                ('subject_id', fields.UUIDField(null=True)),
                ('step', fields.IntField(null=True)),
                ('occurred_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('manual', fields.BooleanField(default=False)),
                ('status', fields.CharEnumField(default=DeliveryStatus.PENDING, description='PENDING: PENDING\nRETRYING: RETRYING\nSUCCEEDED: SUCCEEDED\nFAILED: FAILED', enum_type=DeliveryStatus, max_length=16)),
                ('attempts', fields.IntField(default=0)),
                ('response_status', fields.IntField(null=True)),
                ('duration_ms', fields.IntField(null=True)),
                ('next_attempt_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_attempt_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'webhook_delivery', 'app': 'neurall', 'indexes': [Index(fields=['status', 'next_attempt_at']), Index(fields=['endpoint_id', 'created_at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Account',
            name='low_credit_threshold',
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name='ApiKey',
            name='spend_limit_credits',
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name='ApiKey',
            name='spend_limit_period',
            field=fields.CharField(default='DAY', max_length=8),
        ),
        ops.AddField(
            model_name='Hold',
            name='api_key_id',
            field=fields.UUIDField(null=True),
        ),
        ops.AddIndex(
            model_name='Hold',
            index=Index(fields=['api_key_id', 'created_at']),
        ),
        ops.AddField(
            model_name='Job',
            name='request_digest',
            field=fields.CharField(null=True, max_length=64),
        ),
        ops.AddField(
            model_name='UsageLog',
            name='ledger_reference',
            field=fields.CharField(null=True, max_length=255),
        ),
        ops.RemoveField(model_name='UsageLog', name='credits'),
    ]
