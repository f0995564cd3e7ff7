class TestX:
    pytestmark = [pytest.mark.a]
    def test_y(self, fx): pass
