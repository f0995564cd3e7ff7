try:
    import x
except ImportError:
    x = None
if x:
    def test_z(): pass
