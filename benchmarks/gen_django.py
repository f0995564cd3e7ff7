"""A generated Django project with pytest-django tests, for `make bench`.

    python benchmarks/gen_django.py OUT [--apps 12] [--modules 15] [--tests 8]

Writes a project the way Django projects are laid out: `manage.py`, a settings
package (`proj/settings.py`, named by DJANGO_SETTINGS_MODULE in pytest.ini),
and several apps, each with models (a ForeignKey between them), a services
module and a test package. Test modules from-import the app code (`from
shop_3.models import Order`, `from shop_3.services import total`) and mix
every kind of Django test:

- functions marked `@pytest.mark.django_db` (some `transaction=True`), some
  also `slow`, some parametrized, and plain functions without the database;
- `django.test.TestCase` and `TransactionTestCase` classes (with `tags`, which
  pytest-django turns into markers) and `SimpleTestCase` classes;
- plain pytest classes using the `db` and `client` fixtures.

Names are unique per module (`test_order_total_3_7`), so a narrow `-k`
selects one function.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path
from typing import Dict, List

WORDS = ["shop", "blog", "billing", "inventory", "accounts", "search", "reports", "shipping",
         "catalog", "support", "events", "media"]
MODELS = ["Order", "Customer", "Invoice", "Product"]


def settings(apps: List[str]) -> str:
    installed = ", ".join(repr(a) for a in ["django.contrib.auth", "django.contrib.contenttypes",
                                             "django.contrib.sessions", *apps])
    return (
        "SECRET_KEY = 'bench-not-secret'\n"
        "DEBUG = False\n"
        f"INSTALLED_APPS = [{installed}]\n"
        "DATABASES = {'default': {'ENGINE': 'django.db.backends.sqlite3', 'NAME': ':memory:'}}\n"
        "ROOT_URLCONF = 'proj.urls'\n"
        "MIDDLEWARE = []\n"
        "USE_TZ = True\n"
        "DEFAULT_AUTO_FIELD = 'django.db.models.AutoField'\n"
    )


def models(app: str) -> str:
    lines = ["from django.db import models", ""]
    prev = None
    for m in MODELS:
        lines.append(f"class {m}(models.Model):")
        lines.append("    name = models.CharField(max_length=50)")
        lines.append("    amount = models.DecimalField(max_digits=10, decimal_places=2, default=0)")
        if prev:
            lines.append(f"    parent = models.ForeignKey({prev}, null=True, on_delete=models.CASCADE)")
        lines.append("")
        lines.append("    class Meta:")
        lines.append(f"        app_label = {app!r}")
        lines.append("")
        prev = m
    return "\n".join(lines) + "\n"


def services(app: str) -> str:
    return (
        "from decimal import Decimal\n\n"
        f"from {app}.models import Customer, Invoice, Order, Product\n\n\n"
        "def total(orders):\n    return sum((o.amount for o in orders), Decimal(0))\n\n\n"
        "def label(obj):\n    return f'{type(obj).__name__}:{obj.name}'\n\n\n"
        "def make_order(name, amount=1):\n    return Order.objects.create(name=name, amount=amount)\n\n\n"
        "__all__ = ['Customer', 'Invoice', 'Order', 'Product', 'total', 'label', 'make_order']\n"
    )


def test_module(app: str, a: int, k: int, tests: int) -> str:
    """One test module; which kinds it holds rotates with k."""
    kind = k % 5
    lines = ["import pytest", ""]
    if kind in (1, 2, 4):
        lines.append("from django.test import SimpleTestCase, TestCase, TransactionTestCase")
    lines += [f"from {app}.models import Customer, Order, Product",
              f"from {app}.services import label, make_order, total", "", ""]
    n = 0
    if kind in (0, 3):  # pytest functions: django_db and plain
        for t in range(tests):
            name = f"test_{MODELS[t % 4].lower()}_{['total', 'label', 'create', 'query'][t % 4]}_{a}_{k}_{t}"
            if t % 3 == 0:
                if t % 2 == 0:
                    lines.append("@pytest.mark.slow")
                lines.append("@pytest.mark.django_db" + ("(transaction=True)" if t % 4 == 3 else ""))
                lines += [f"def {name}():", f"    make_order('o{t}', {t})",
                          f"    assert Order.objects.count() == 1", "", ""]
            elif t % 3 == 1:
                lines += ["@pytest.mark.parametrize('amount', [1, 2, 5])", f"def {name}(amount):",
                          "    assert total([Order(name='x', amount=amount)]) == amount", "", ""]
            else:
                lines += [f"def {name}():", "    assert label(Product(name='p')) == 'Product:p'", "", ""]
            n += 1
    if kind in (1, 4):  # Django TestCase / TransactionTestCase classes
        lines += [f"class TestOrders{a}x{k}(TestCase):", "    tags = {'models'}", ""]
        for t in range(tests // 2):
            lines += [f"    def test_order_case_{a}_{k}_{t}(self):", f"        make_order('c{t}')",
                      "        self.assertEqual(Order.objects.count(), 1)", ""]
        lines += ["", f"class TestCustomersTx{a}x{k}(TransactionTestCase):", ""]
        for t in range(tests - tests // 2):
            lines += [f"    def test_customer_tx_{a}_{k}_{t}(self):", f"        Customer.objects.create(name='c{t}')",
                      "        self.assertEqual(Customer.objects.count(), 1)", ""]
        lines.append("")
    if kind == 2:  # SimpleTestCase and plain pytest classes with db fixtures
        lines += [f"class TestLabels{a}x{k}(SimpleTestCase):", ""]
        for t in range(tests // 2):
            lines += [f"    def test_label_simple_{a}_{k}_{t}(self):",
                      "        self.assertEqual(label(Product(name='p')), 'Product:p')", ""]
        lines += ["", f"class TestQueries{a}x{k}:", ""]
        for t in range(tests - tests // 2):
            lines += [f"    def test_query_{a}_{k}_{t}(self, db):", "        assert not Order.objects.exists()", ""]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def generate(root: Path, apps: int = 12, modules: int = 15, tests: int = 8) -> Dict[str, int]:
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    names = [f"{WORDS[i % len(WORDS)]}_{i}" for i in range(apps)]
    files: Dict[str, str] = {
        "pytest.ini": ("[pytest]\nDJANGO_SETTINGS_MODULE = proj.settings\npython_files = test_*.py\n"
                       "markers =\n    slow: slow tests\n"),
        "manage.py": ("import os\nimport sys\n\nif __name__ == '__main__':\n"
                      "    os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'proj.settings')\n"
                      "    from django.core.management import execute_from_command_line\n"
                      "    execute_from_command_line(sys.argv)\n"),
        "proj/__init__.py": "",
        "proj/settings.py": settings(names),
        "proj/urls.py": "urlpatterns = []\n",
    }
    count = 0
    for a, app in enumerate(names):
        files[f"{app}/__init__.py"] = ""
        files[f"{app}/apps.py"] = (f"from django.apps import AppConfig\n\n\nclass Config(AppConfig):\n"
                                   f"    name = {app!r}\n")
        files[f"{app}/models.py"] = models(app)
        files[f"{app}/services.py"] = services(app)
        for k in range(modules):
            text = test_module(app, a, k, tests)
            files[f"tests/{app}/test_{app}_{k}.py"] = text
            count += 1
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return {"apps": apps, "test_modules": count}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=Path)
    ap.add_argument("--apps", type=int, default=12)
    ap.add_argument("--modules", type=int, default=15, help="test modules per app")
    ap.add_argument("--tests", type=int, default=8, help="tests per module")
    args = ap.parse_args()
    print(generate(args.out, args.apps, args.modules, args.tests))


if __name__ == "__main__":
    main()
