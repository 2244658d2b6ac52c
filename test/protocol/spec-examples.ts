/**
 * Examples from the product documents (`shared/spec`), verbatim, shared by the protocol tests.
 * Line arrays keep tabs and spacing exact; `lines(...)` joins them with LF, the documents' own
 * line end. `specText()` reads a document when the spec folder is next to the repository, so a
 * test can check that a fixture still appears in it word for word.
 */

import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const lines = (...rows: string[]): string => rows.join('\n');

/** spec/README.md, "Observed from a production WebAPI": the TEST answer. */
export const productionTestResult = lines(
  '<RESULT>',
  '\t<REQUESTTYPE>TEST</REQUESTTYPE>',
  '\t<REQUESTID>17</REQUESTID>',
  '\t<RESULTTYPE>API_OK</RESULTTYPE>',
  '\t<RESULTCODE>20</RESULTCODE>',
  '\t<RESULTMSG>API_OK</RESULTMSG>',
  '</RESULT>',
);

/** spec/README.md: `type=importuser&action=list` in production. `<USERS>` is never closed. */
export const productionImportUserList = lines(
  '<RESULT>',
  '<REQUESTTYPE>IMPORTUSER</REQUESTTYPE>',
  '<REQUESTID>17</REQUESTID>',
  '<RESULTTYPE>API_OK</RESULTTYPE>',
  '<RESULTCODE>20</RESULTCODE>',
  '<RESULTMSG>API_OK</RESULTMSG>',
  '<USERS>',
  '<COUNT>1</COUNT>',
  '<USER>',
  '\t<USER_ID>1</USER_ID>',
  '\t<USERNAME>user1</USERNAME>',
  '\t<EMPLOYEE_ID></EMPLOYEE_ID>',
  '\t<FIRST_NAME>CallCopy</FIRST_NAME>',
  '\t<LAST_NAME>Admin</LAST_NAME>',
  '\t<AGENT>FALSE</AGENT>',
  '\t<STATUS>A</STATUS>',
  '\t<ADD_TIME>1/1/0001 12:00:00 AM +00:00</ADD_TIME>',
  '\t<MOD_TIME>4/12/2017 3:51:30 PM-05:00</MOD_TIME>',
  '\t<SYS_USER></SYS_USER>',
  '\t<SYS_DOMAIN></SYS_DOMAIN>',
  '\t<EMAIL>user@user.com</EMAIL>',
  '\t<CRM_USER></CRM_USER>',
  '\t<SITE_ID>-1</SITE_ID>',
  '\t<PHONES></PHONES>',
  '</USER>',
  '</RESULT>',
);

/** API Manual v5.7, IMPORTUSER example: `<AGENT_ID>2</USERID>` closes with the wrong name. */
export const manualImportUserAdd = lines(
  '<REQUEST>',
  '  <TYPE>IMPORTUSER</TYPE>',
  '  <REQUESTID>2</REQUESTID>',
  '  <ACTION>ADD</ACTION>',
  '  <AGENT_ID>2</USERID>',
  '  <EMPLOYEEID>5</EMPLOYEEID>',
  '  <FIRSTNAME>James</FIRSTNAME>',
  '  <LASTNAME>Doe</LASTNAME>',
  '  <STATUS>A</STATUS>',
  '  <ADD_TIME></ADD_TIME>',
  '  <MOD_TIME></MOD_TIME>',
  '  <SYS_USER>doe.1</SYS_USER>',
  '  <DOMAIN>somecompany</DOMAIN>',
  '  <EMAIL>jdoe@somecompany.com</EMAIL>',
  '  <CRM_USER>CRMUsername</CRM_USER>',
  '  <PASSWORD>Password</PASSWORD>',
  '  <SITEID>1</SITEID>',
  '  <USERNAME>CallCopyUsername</USERNAME>',
  '</REQUEST>',
);

/**
 * API Manual v5.7, IMPORTUSER "List Example" result: the document splits it over two code blocks;
 * joined here. The same `<AGENT_ID>2</USERID>` appears inside a nested AGENT.
 */
export const manualImportUserListResult = lines(
  '<RESULT>',
  '  <REQUESTTYPE>IMPORTUSER</REQUESTTYPE>',
  '  <REQUESTID>5</REQUESTID>',
  '  <RESULTTYPE>API_OK</RESULTTYPE>',
  '  <RESULTCODE>20</RESULTCODE>',
  '  <RESULTMSG>API_OK</RESULTMSG>',
  '  <AGENTS>',
  '    <COUNT>1</COUNT>',
  '    <AGENT>',
  '      <AGENT_ID>2</USERID>',
  '      <EMPLOYEEID>5</EMPLOYEEID>',
  '      <FIRSTNAME>John</FIRSTNAME>',
  '      <LASTNAME>Doe</LASTNAME>',
  '      <STATUS>A</STATUS>',
  '      <ADD_TIME>10/30/2006 4:05:38 PM</ADD_TIME>',
  '<MOD_TIME>3/27/2008 3:34:43 PM</MOD_TIME>  ',
  '<SYS_USER>jdoe</SYS_USER>  ',
  '<DOMAIN>Uptivity</DOMAIN>  ',
  '<EMAIL>jdoe@uptivity.com</EMAIL>  ',
  '<CRM_USER>john</CRM_USER>  ',
  '<PHONES>1123,3343,3234</PHONES>  ',
  '</AGENT>  ',
  '</AGENTS>  ',
  '</RESULT>',
);

/** API Manual v5.7, ADDGROUP example: a raw `&`. */
export const manualAddGroupRequest = lines(
  '<REQUEST>',
  '  <TYPE>ADDGROUP</TYPE>',
  '  <REQUESTID>2</REQUESTID>',
  '  <GROUPNAME>Sales & Marketing</GROUPNAME>',
  '</REQUEST>',
);

export const manualAddGroupResult = lines(
  '<RESULT>',
  '  <REQUESTTYPE>ADDGROUP</REQUESTTYPE>',
  '  <REQUESTID>2</REQUESTID>',
  '  <RESULTTYPE>API_OK</RESULTTYPE>',
  '  <RESULTCODE>20</RESULTCODE>',
  '  <RESULTMSG>group: Sales & Marketing has been added</RESULTMSG>',
  '  <GROUPID>11</GROUPID>',
  '  <GROUPNAME>Sales & Marketing</GROUPNAME>',
  '</RESULT>',
);

/** API Manual v5.7, SYSTEMSTATUS example: a stray `<` in RECORDINGPATH, PROCESSORn at column 0. */
export const manualSystemStatusResult = lines(
  '<RESULT>',
  '  <REQUESTTYPE>SYSTEMSTATUS</REQUESTTYPE>',
  '  <REQUESTID>255</REQUESTID>',
  '  <RESULTTYPE>API_OK</RESULTTYPE>',
  '  <RESULTCODE>20</RESULTCODE>',
  '  <RESULTMSG>API_OK</RESULTMSG>',
  '  <RECORDINGPATH>C:\\Recordings\\<</RECORDINGPATH>',
  '  <RECORDINGSPEACEINFO>223.66GB of 465.64GB</RECORDINGSPEACEINFO>',
  '  <RECORDINGTOTALDISKCAPACITY>476819</RECORDINGTOTALDISKCAPACITY>',
  '  <RECORDINGTOTALDISKFREE>229032</RECORDINGTOTALDISKFREE>',
  '  <RECORDINGTOTALDISKFREEPCT>48.03</RECORDINGTOTALDISKFREEPCT>',
  '  <SYSTEMUPTIME>0 days, 18 hours, 24 minutes, 37 seconds.</SYSTEMUPTIME>',
  '<PROCESSOR0>',
  '  <SYSTEMPROCESSORSPEED>2394MHz</SYSTEMPROCESSORSPEED>',
  '  <SYSTEMPROCESSORTYPE>x86 Family 6 Model 15 Stepping 11</SYSTEMPROCESSORTYPE>',
  '</PROCESSOR0>',
  '<PROCESSOR1>',
  '  <SYSTEMPROCESSORSPEED>2394MHz</SYSTEMPROCESSORSPEED>',
  '  <SYSTEMPROCESSORTYPE>x86 Family 6 Model 15 Stepping 11</SYSTEMPROCESSORTYPE>',
  '</PROCESSOR1>',
  '<PROCESSOR2>',
  '  <SYSTEMPROCESSORSPEED>2394MHz</SYSTEMPROCESSORSPEED>',
  '  <SYSTEMPROCESSORTYPE>x86 Family 6 Model 15 Stepping 11</SYSTEMPROCESSORTYPE>',
  '</PROCESSOR2>',
  '<PROCESSOR3>',
  '  <SYSTEMPROCESSORSPEED>2394MHz</SYSTEMPROCESSORSPEED>',
  '  <SYSTEMPROCESSORTYPE>x86 Family 6 Model 15 Stepping 11</SYSTEMPROCESSORTYPE>',
  '</PROCESSOR3>',
  '  <SYSTEMRAMTOTAL>3325</SYSTEMRAMTOTAL>',
  '  <SYSTEMRAMFREE>1702</SYSTEMRAMFREE>',
  '  <SYSTEMRAMUSED>1623</SYSTEMRAMUSED>',
  '  <SYSTEMRAMUSEDPCT>48</SYSTEMRAMUSEDPCT>',
  '</RESULT>',
);

/** API Manual v5.7, "Result Codes/Result Types", as printed (code 19 absent; 16 and 17 alike). */
export const manualResultCodeTable = `
0	API_RECORDING_STARTED
1	API_ERROR_ALREADY_RECORDING
2	API_ERROR_OUT_OF_DISK_SPACE
3	API_ERROR_NO_FREE_CHANNELS
4	API_ERROR_UNKNOWN
5	API_DEVICE_ALIAS_UNSPECIFIED
6	API_ERROR_SCHEDULER_NOT_RUNNING
7	API_DEVICE_NOT_IN_CALL
8	API_DEVICE_INVALID

9	API_DID_NOT_MATCH_A_SCHEDULE
10	API_UNKNOWN_MESSAGE_TYPE
11	API_ERROR_PROCESSING_MESSAGE
12	API_DEVICE_NOT_RECORDING
13	API_RECORDING_STOPPED
14	API_REQUESTID_INVALID
15	API_INVALID_REQUEST_TYPE
16	API_INVALID_MESSAGE_FORMAT
17	API_INVALID_MESSAGE_FORMAT
18	API_ERROR_NO_DEFAULT_RECORDING_PATH
20	API_OK
21	API_ERROR_INVALID_ACTION
22	API_ERROR_KEYS_NOT_UNIQUE
23	API_DATABASE_QUERY_ERROR
24	API_AGENT_NOT_FOUND
25	API_AGENT_NOT_ACTIVE
26	API_BLANK_REQUIRED_VALUE
27	API_NO_GROUP
28	API_USER_NOT_FOUND
29	API_MODE_INVALID
30	API_EVENT_TYPE_INVALID
31	API_ERROR_CLIENT_NOT_FOUND
32	API_ERROR_ALREADY_MONITORING
33	API_SESSIONID_UNSPECIFIED
34	API_ERROR_RECORDER_NOT_RUNNING
35	API_ERROR_BLOCKED_RECORDING_FILTER
36	API_ERROR_LOGGER_NOT_RUNNING
37	API_RECORDING_UPDATED
38	API_BLACKOUT_INVALID_STATE

39	API_UNLICENSED
40	API_RECORDID_INVALID
41	API_FILE_NOT_FOUND
42	API_AGENT_ALREADY_EXIST
43	API_STREAMING_STARTED
44	API_COMMAND_NOT_ALLOWED
45	API_EMAIL_NOT_VALID
46	API_PARTIAL_CORE_RESPONSE
47	API_COMMAND_QUEUE_FULL
48	API_TOO_MANY_CLIENTS
49	API_COMMAND_NOT_SUPPORTED
50	API_ROLE_ALREADY_EXISTS
51	API_PERMISSIONIDENT_NOT_FOUND
52	API_ROLE_NOT_FOUND
53	API_SITEID_NOT_VALID
54	API_USER_ALREADY_EXIST
55	API_CONFIG_ERROR
`;

/** `shared/spec` beside the repository (the checkout is `<work>/main`, the spec `<work>/shared/spec`). */
const specDir = fileURLToPath(new URL('../../../../shared/spec/', import.meta.url));

/** The text of a spec document with LF line ends, or undefined where the spec is not available. */
export function specText(file: string): string | undefined {
  const path = specDir + file;
  return existsSync(path) ? readFileSync(path, 'utf8').replace(/\r\n/g, '\n') : undefined;
}
