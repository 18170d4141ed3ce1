from tortoise import migrations
from tortoise.migrations import operations as ops
from neurall.orm.jobs import JobPriority
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('neurall', '0009_model_catalog')]

    initial = False

    operations = [
        ops.AlterField(
            model_name='Job',
            name='started_at',
            field=fields.DatetimeField(null=True, db_index=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Job',
            name='priority',
            field=fields.CharEnumField(default=JobPriority.STANDARD, description='STANDARD: STANDARD\nBATCH: BATCH', db_default='STANDARD', enum_type=JobPriority, max_length=16),
        ),
        ops.AddField(
            model_name='Job',
            name='started_by',
            field=fields.CharField(null=True, db_index=True, max_length=64),
        ),
        ops.AddIndex(
            model_name='Job',
            index=Index(fields=['status', 'priority', 'created_at']),
        ),
    ]
