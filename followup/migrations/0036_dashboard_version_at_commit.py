from django.db import migrations

from followup import dashboard_version


def track_at_commit(apps, schema_editor):
    """PostgreSQL: the pending table, its commit trigger, and the triggers that record in it (replaced);
    SQLite: the triggers as they were (installed again, idempotent)."""
    dashboard_version.install(schema_editor.connection, apps.get_model)


class Migration(migrations.Migration):

    dependencies = [
        ('followup', '0035_dashboard_version'),
    ]

    operations = [
        migrations.RunPython(track_at_commit, migrations.RunPython.noop),
    ]
