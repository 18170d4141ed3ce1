from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('neurall', '0001_initial')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Job',
            name='dispatch_pending',
            field=fields.BooleanField(default=False),
        ),
        ops.AddField(
            model_name='Job',
            name='lease_expires_at',
            field=fields.DatetimeField(null=True, db_index=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Job',
            name='payload_orphaned',
            field=fields.BooleanField(default=False),
        ),
    ]
