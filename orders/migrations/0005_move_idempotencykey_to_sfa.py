"""Idempotency keys became a facility of the whole API: their rows move to sfa.IdempotencyKey.

The copy runs after sfa's table exists (dependency on sfa 0002) and before orders' table is dropped.
Reversed, the table comes back and the rows move back into it. Row ids are not copied, so that
PostgreSQL's sequence of the target table stays ahead of its rows.
"""

from django.db import migrations

FIELDS = ("key", "user_id", "endpoint", "request_hash", "status_code", "response", "created_at")
BATCH = 1000


def _move(source, target) -> None:
    batch = []
    for row in source.objects.order_by("pk").values(*FIELDS).iterator(chunk_size=BATCH):
        batch.append(target(**row))
        if len(batch) >= BATCH:
            target.objects.bulk_create(batch, ignore_conflicts=True)
            batch = []
    if batch:
        target.objects.bulk_create(batch, ignore_conflicts=True)


def keys_to_sfa(apps, schema_editor) -> None:
    _move(apps.get_model("orders", "IdempotencyKey"), apps.get_model("sfa", "IdempotencyKey"))


def keys_to_orders(apps, schema_editor) -> None:
    sfa_keys = apps.get_model("sfa", "IdempotencyKey")
    _move(sfa_keys, apps.get_model("orders", "IdempotencyKey"))
    sfa_keys.objects.all().delete()


class Migration(migrations.Migration):

    dependencies = [
        ('orders', '0004_payment'),
        ('sfa', '0002_idempotencykey'),
    ]

    operations = [
        migrations.RunPython(keys_to_sfa, keys_to_orders),
        migrations.DeleteModel(
            name='IdempotencyKey',
        ),
    ]
