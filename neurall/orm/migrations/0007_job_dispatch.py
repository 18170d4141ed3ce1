from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('neurall', '0006_sealed_webhook_secrets')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Job',
            name='dispatched_at',
            field=fields.DatetimeField(null=True, db_index=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Job',
            name='received_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        # Jobs queued before this version count as sent when they were created.
        ops.RunSQL(
            "UPDATE job SET dispatched_at = created_at WHERE status = 'QUEUED'",
            reverse_sql="",
        ),
    ]
