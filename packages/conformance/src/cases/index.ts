import type { ConformanceCase } from '../case.ts';
import { badPeerCases } from './bad-peer.ts';
import { byobCases } from './byob.ts';
import { closeCases } from './close.ts';
import { connectCases } from './connect.ts';
import { dataCases } from './data.ts';
import { idleCases } from './idle.ts';
import { interopCases } from './interop.ts';
import { peerCloseCases } from './peer-close.ts';
import { serverCases } from './server.ts';
import { shutdownCases } from './shutdown.ts';
import { socketOptionsCases } from './socket-options.ts';
import { socketsApiCases } from './sockets-api.ts';
import { starttlsCases } from './starttls.ts';
import { starttlsInteropCases } from './starttls-interop.ts';
import { starttlsPlaintextCases } from './starttls-plaintext.ts';
import { starttlsUpgradedCases } from './starttls-upgraded.ts';
import { truncationCases } from './truncation.ts';

/** The whole catalogue, in the order it runs and is reported. */
export const CATALOGUE: readonly ConformanceCase[] = [
  ...connectCases,
  ...dataCases,
  ...byobCases,
  ...shutdownCases,
  ...peerCloseCases,
  ...truncationCases,
  ...closeCases,
  ...idleCases,
  ...badPeerCases,
  ...serverCases,
  ...socketOptionsCases,
  ...starttlsCases,
  ...starttlsPlaintextCases,
  ...starttlsUpgradedCases,
  ...socketsApiCases,
  ...interopCases,
  ...starttlsInteropCases,
];
