// The platform's durable state (users, instances, services) and the gateway's route table.
export {MAX_USERS, STATE_FILE, Store, USER_NAME} from './store.js'
export {StateFile} from './state-file.js'
export {writeFileDurably, writeFileDurablySync} from './durable-file.js'
