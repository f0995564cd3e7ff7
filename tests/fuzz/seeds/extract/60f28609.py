globals()['test_q'] = 1
