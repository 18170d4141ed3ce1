from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from uuid import uuid4
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('neurall', '0007_job_dispatch')]

    initial = False

    operations = [
        ops.CreateModel(
            name='DomainEvent',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('type', fields.CharField(max_length=40)),
                ('subject_id', fields.UUIDField()),
                ('account_id', fields.UUIDField(null=True, db_index=True)),
                ('occurred_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('payload', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('handled_by', fields.CharField(default='', max_length=300)),
                ('claimed_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'domain_event', 'app': 'neurall', 'indexes': [Index(fields=['subject_id', 'occurred_at']), Index(fields=['occurred_at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
