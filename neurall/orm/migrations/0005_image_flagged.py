from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('neurall', '0004_webhooks')]

    initial = False

    operations = [
        ops.AddField(
            model_name='JobImage',
            name='flagged',
            field=fields.BooleanField(default=False),
        ),
    ]
