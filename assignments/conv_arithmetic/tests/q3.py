OK_FORMAT = True

test = {   'name': 'q3',
    'points': 3,
    'suites': [   {   'cases': [{'code': '>>> assert np.shape(feature_map) == (3, 3)\n', 'failure_message': 'feature_map must be a 3 x 3 array', 'hidden': False, 'locked': False, 'points': 1}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
