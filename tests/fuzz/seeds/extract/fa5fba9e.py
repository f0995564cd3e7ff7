import pytest
@pytest.mark.parametrize('a,b', [(1, 'x'), pytest.param(2, 'y', id='z', marks=pytest.mark.slow)])
def test_a(a, b): pass
