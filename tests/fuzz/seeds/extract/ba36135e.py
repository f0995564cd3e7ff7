from pytest import mark as m, fixture
@fixture(params=[1,2], autouse=True)
def f(request): pass
