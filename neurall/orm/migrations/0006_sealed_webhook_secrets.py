from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('neurall', '0005_image_flagged')]

    initial = False

    operations = [
        ops.AlterField(
            model_name='WebhookEndpoint',
            name='previous_secret',
            field=fields.CharField(null=True, max_length=255),
        ),
        ops.AlterField(
            model_name='WebhookEndpoint',
            name='secret',
            field=fields.CharField(max_length=255),
        ),
    ]
