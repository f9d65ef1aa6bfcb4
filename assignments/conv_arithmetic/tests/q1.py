OK_FORMAT = True

test = {   'name': 'q1',
    'points': 2,
    'suites': [   {   'cases': [   {   'code': '>>> assert isinstance(output_size, (int, np.integer)) and isinstance(pooled_size, (int, np.integer))\n',
                                       'failure_message': 'output_size and pooled_size must be whole numbers',
                                       'hidden': False,
                                       'locked': False,
                                       'points': 0.5}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
