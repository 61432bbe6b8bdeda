// Shared by unit tests that touch HTTP: no real network except loopback.
import nock from 'nock'

nock.disableNetConnect()
nock.enableNetConnect(/^(127\.\d+\.\d+\.\d+|localhost|\[::1\]|::1)(:\d+)?$/)

export {nock}
