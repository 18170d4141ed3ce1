from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('neurall', '0008_domain_events')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Clone',
            name='base_model',
            field=fields.CharField(default='tiny-sd', db_default='tiny-sd', max_length=64),
        ),
        ops.AddField(
            model_name='Job',
            name='model',
            field=fields.CharField(default='tiny-sd', db_default='tiny-sd', max_length=64),
        ),
        ops.AddField(
            model_name='UsageLog',
            name='model',
            field=fields.CharField(null=True, max_length=64),
        ),
    ]
