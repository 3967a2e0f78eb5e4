// CaravanCore's API is written in terms of CaravanMessages' ProtoMessage;
// re-export it so every file here, and every client, sees it.
@_exported import CaravanMessages
