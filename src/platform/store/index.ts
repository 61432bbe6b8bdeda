// The platform's durable state (users, instances, services, volumes, certificates) and the gateway's route table.
export {CERTIFICATES_DIR, MAX_USERS, SPECS_DIR, STATE_FILE, Store, USER_NAME} from './store.js'
export {StateFile} from './state-file.js'
export {writeFileDurably, writeFileDurablySync} from './durable-file.js'
